/**
 * Nodes dragged from the node table onto a pool (native HTML5 drag and drop: no library).
 * Dragging a selected row drags the whole selection; an unselected row drags itself.
 */
import type { DragEvent } from 'react';

export const NODE_DRAG_TYPE = 'application/x-edgefleet-nodes';

export function startNodeDrag(e: DragEvent, name: string, selected: ReadonlySet<string>): void {
  const nodes = selected.has(name) ? [...selected] : [name];
  e.dataTransfer.setData(NODE_DRAG_TYPE, JSON.stringify(nodes));
  e.dataTransfer.setData('text/plain', nodes.join(' '));
  e.dataTransfer.effectAllowed = 'move';
}

export function droppedNodes(e: DragEvent): string[] | null {
  const raw = e.dataTransfer.getData(NODE_DRAG_TYPE);
  if (!raw) return null;
  try {
    const v: unknown = JSON.parse(raw);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : null;
  } catch {
    return null;
  }
}

export const carriesNodes = (e: DragEvent): boolean => e.dataTransfer.types.includes(NODE_DRAG_TYPE);
