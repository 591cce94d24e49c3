import { useMemo, useState } from 'react';
import { yamlProblems } from '../../model/yaml-check.ts';
import { actionKey } from '../../store/fleet-actions.ts';
import { useActionStatus, useFleetActions } from '../../store/fleet-context.tsx';
import { ActionButton } from '../fleet/ActionButton.tsx';
import { ActionOutcome } from '../fleet/ActionOutcome.tsx';

const EXAMPLE = `apiVersion: apps.openyurt.io/v1beta1
kind: YurtAppSet
metadata:
  name: web
  namespace: default
spec:
  pools: [north, south]
  workload:
    workloadTemplate:
      deploymentTemplate:
        metadata: { labels: { app: web } }
        spec:
          replicas: 1
          selector: { matchLabels: { app: web } }
          template:
            metadata: { labels: { app: web } }
            spec:
              containers: [{ name: web, image: nginx:1.27 }]
`;

export function AppYaml() {
  const [text, setText] = useState(EXAMPLE);
  const [force, setForce] = useState(false);
  const applyApp = useFleetActions((s) => s.applyApp);
  const status = useActionStatus(actionKey.appApply);
  const problems = useMemo(() => yamlProblems(text), [text]);
  return (
    <form
      className="panel"
      aria-label="Create a YurtAppSet from YAML"
      onSubmit={(e) => {
        e.preventDefault();
        if (problems.length === 0) void applyApp(text, force);
      }}
    >
      <label>
        Manifest
        <textarea
          className="mono yaml"
          rows={16}
          spellCheck={false}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      </label>
      {problems.length ? (
        <ul className="bad" aria-label="Manifest problems">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      ) : null}
      <div className="row">
        <label className="inline">
          <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> take over
          fields other tools own
        </label>
        <ActionButton
          action="yurtappsets:create"
          type="submit"
          onClick={() => {}}
          busy={status.busy}
          {...(problems.length ? { blocked: problems[0] as string } : {})}
        >
          Apply
        </ActionButton>
      </div>
      <ActionOutcome statusKey={actionKey.appApply} busyText="Applying…" />
    </form>
  );
}
