import { type FormEvent, useState } from 'react';
import type { NodePoolWire } from '../../../src-main/ipc/types.ts';
import { formatLabels, formatTaints, parseLabels, parseTaints } from '../../model/fleet-fields.ts';
import { actionKey } from '../../store/fleet-actions.ts';
import { useActionStatus, useFleetActions } from '../../store/fleet-context.tsx';
import { ActionButton } from './ActionButton.tsx';
import { ActionOutcome } from './ActionOutcome.tsx';

/** Create a pool, or edit one (`pool` given): name, type, and what it puts on its member nodes. */
export function PoolForm(props: { pool?: NodePoolWire; onDone?: () => void }) {
  const editing = props.pool;
  const [name, setName] = useState(editing?.name ?? '');
  const [type, setType] = useState<'Edge' | 'Cloud'>(editing?.type === 'Cloud' ? 'Cloud' : 'Edge');
  const [labels, setLabels] = useState(formatLabels(editing?.nodeLabels));
  const [taints, setTaints] = useState(formatTaints(editing?.nodeTaints));
  const createPool = useFleetActions((s) => s.createPool);
  const editPool = useFleetActions((s) => s.editPool);
  const key = editing ? actionKey.poolEdit(editing.name) : actionKey.poolCreate;
  const status = useActionStatus(key);
  const l = parseLabels(labels);
  const t = parseTaints(taints);
  const problem = !name.trim() ? 'Give the pool a name.' : !l.ok ? l.error : !t.ok ? t.error : undefined;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!l.ok || !t.ok || !name.trim()) return;
    const input = { name: name.trim(), type, labels: l.value, taints: t.value };
    const ok = editing ? await editPool(input) : await createPool(input);
    if (ok && !editing) {
      setName('');
      setLabels('');
      setTaints('');
    }
    if (ok) props.onDone?.();
  };
  const id = editing ? `pool-edit-${editing.name}` : 'pool-create';
  return (
    <form className="panel pool-form" aria-labelledby={`${id}-h`} onSubmit={(e) => void submit(e)}>
      <h3 id={`${id}-h`}>{editing ? `Edit pool ${editing.name}` : 'Create a node pool'}</h3>
      <div className="form-grid">
        <label>
          Pool name
          <input
            value={name}
            disabled={Boolean(editing)}
            onChange={(e) => setName(e.target.value.toLowerCase())}
            placeholder="site-north"
            pattern="[a-z0-9]([a-z0-9.\-]*[a-z0-9])?"
          />
        </label>
        <label>
          Type
          <select value={type} onChange={(e) => setType(e.target.value as 'Edge' | 'Cloud')}>
            <option value="Edge">Edge</option>
            <option value="Cloud">Cloud</option>
          </select>
        </label>
        <label>
          Labels for member nodes
          <textarea
            rows={2}
            value={labels}
            onChange={(e) => setLabels(e.target.value)}
            placeholder="site.example.com/name=north"
          />
        </label>
        <label>
          Taints for member nodes
          <textarea
            rows={2}
            value={taints}
            onChange={(e) => setTaints(e.target.value)}
            placeholder="site.example.com/remote=yes:PreferNoSchedule"
          />
        </label>
      </div>
      {problem && (name || labels || taints) ? (
        <p className="bad" role="alert">
          {problem}
        </p>
      ) : null}
      <div className="row">
        <ActionButton
          action={editing ? 'nodepools:edit' : 'nodepools:create'}
          type="submit"
          onClick={() => {}}
          busy={status.busy}
          {...(problem ? { blocked: problem } : {})}
        >
          {editing ? 'Save pool' : 'Create pool'}
        </ActionButton>
        {editing && props.onDone ? (
          <button type="button" className="secondary" onClick={props.onDone}>
            Close
          </button>
        ) : null}
      </div>
      <ActionOutcome statusKey={key} busyText={editing ? 'Saving…' : 'Creating…'} />
    </form>
  );
}
