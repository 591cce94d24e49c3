import { Command } from 'cmdk';
import { useEffect, useMemo, useState } from 'react';
import { useApp, useFleet } from '../../store/context.tsx';
import { useFleetActions, useFleetUi, useGateOf } from '../../store/fleet-context.tsx';
import { type PaletteCommand, type PaletteItem, paletteItems } from './palette-items.ts';

const GROUPS: PaletteItem['group'][] = ['Go to', 'Nodes', 'Pools', 'Apps'];

/** Ctrl+K (or ⌘K): jump to any node, pool or app and run its actions from the keyboard. */
export function CommandPalette() {
  const open = useFleetUi((s) => s.paletteOpen);
  const setOpen = useFleetUi((s) => s.setPalette);
  const openNode = useFleetUi((s) => s.openNode);
  const setView = useApp((s) => s.setView);
  const cordon = useFleetActions((s) => s.cordon);
  const drain = useFleetActions((s) => s.drain);
  const fleet = useFleet();
  const [query, setQuery] = useState('');
  const gateOf = useGateOf();

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setOpen(!open);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open, setOpen]);

  const items = useMemo(() => (open ? paletteItems(fleet, query) : []), [fleet, query, open]);

  const run = (c: PaletteCommand) => {
    setOpen(false);
    setQuery('');
    switch (c.kind) {
      case 'view':
        openNode(null);
        setView(c.view);
        return;
      case 'node':
        openNode(c.node);
        return;
      case 'cordon':
      case 'uncordon':
        openNode(c.node);
        void cordon([c.node], c.kind === 'cordon');
        return;
      case 'drain':
        openNode(c.node);
        void drain(c.node);
        return;
      case 'pool':
        openNode(null);
        setView('pools');
        return;
      case 'app':
        openNode(null);
        setView('apps');
        // The panel exists after the view renders.
        requestAnimationFrame(() =>
          document.getElementById(`app-${c.app.replace('/', '-')}`)?.scrollIntoView({ block: 'start' }),
        );
        return;
    }
  };

  return (
    <Command.Dialog
      open={open}
      onOpenChange={setOpen}
      label="Command palette"
      shouldFilter={false}
      className="palette"
      overlayClassName="palette-overlay"
      contentClassName="palette-content"
    >
      <Command.Input value={query} onValueChange={setQuery} placeholder="Node, pool, app or view…" />
      <Command.List>
        <Command.Empty>Nothing matches.</Command.Empty>
        {GROUPS.map((g) => {
          const list = items.filter((i) => i.group === g);
          if (list.length === 0) return null;
          return (
            <Command.Group key={g} heading={g}>
              {list.map((i) => {
                const gate = i.action ? gateOf(i.action) : { enabled: true };
                return (
                  <Command.Item
                    key={i.id}
                    value={i.id}
                    disabled={!gate.enabled}
                    onSelect={() => run(i.command)}
                  >
                    {i.label}
                    {!gate.enabled ? <span className="sub"> — {gate.reason}</span> : null}
                  </Command.Item>
                );
              })}
            </Command.Group>
          );
        })}
      </Command.List>
    </Command.Dialog>
  );
}
