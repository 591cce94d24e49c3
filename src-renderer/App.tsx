import type { ViewName } from './store/app-store.ts';
import { useActiveFlavor, useApp } from './store/context.tsx';
import { useFleetUi } from './store/fleet-context.tsx';
import { ThemeToggle } from './theme.tsx';
import { AlertsView } from './views/AlertsView.tsx';
import { AppsView } from './views/AppsView.tsx';
import { AlertBanner } from './views/alerts/AlertBanner.tsx';
import { ClustersView } from './views/ClustersView.tsx';
import { ConnectionBadge, flavorLabel } from './views/common.tsx';
import { EventsView } from './views/EventsView.tsx';
import { NodesView } from './views/NodesView.tsx';
import { NodePage } from './views/node/NodePage.tsx';
import { PoolsView } from './views/PoolsView.tsx';
import { ProvisionView } from './views/ProvisionView.tsx';
import { CommandPalette } from './views/palette/CommandPalette.tsx';
import { TopologyView } from './views/TopologyView.tsx';
import { ViewBoundary } from './views/ViewBoundary.tsx';

const VIEWS: { name: ViewName; label: string }[] = [
  { name: 'clusters', label: 'Clusters' },
  { name: 'pools', label: 'Node pools' },
  { name: 'nodes', label: 'Nodes' },
  { name: 'apps', label: 'Apps' },
  { name: 'topology', label: 'Topology' },
  { name: 'events', label: 'Events' },
  { name: 'alerts', label: 'Alerts' },
  { name: 'provision', label: 'Provisioning' },
];

function PaletteButton() {
  const setPalette = useFleetUi((s) => s.setPalette);
  return (
    <button type="button" className="secondary palette-button" onClick={() => setPalette(true)}>
      Find or run… <kbd>Ctrl K</kbd>
    </button>
  );
}

function Header() {
  const transport = useApp((s) => s.transport);
  const active = useApp((s) => s.activeClusterId);
  const flavor = useActiveFlavor();
  return (
    <header className="topbar">
      <h1>EdgeFleet</h1>
      <div className="topbar-cluster">
        {active ? (
          <>
            <span className="cluster-name">{active}</span>
            {flavor ? (
              <span className="tag" title="Edge control plane">
                {flavorLabel(flavor.kind)}
              </span>
            ) : null}
            <ConnectionBadge />
          </>
        ) : (
          <span className="sub">No cluster open</span>
        )}
      </div>
      <PaletteButton />
      <ThemeToggle />
      {transport.state !== 'open' ? (
        <p className={`app-link app-link-${transport.state}`} role="alert">
          {transport.detail ??
            (transport.state === 'connecting' ? 'Connecting to EdgeFleet…' : 'Not connected')}
        </p>
      ) : null}
    </header>
  );
}

export function App() {
  const view = useApp((s) => s.view);
  const setView = useApp((s) => s.setView);
  const nodePage = useFleetUi((s) => s.nodePage);
  const openNode = useFleetUi((s) => s.openNode);
  return (
    <div className="layout">
      <Header />
      <nav aria-label="Views" className="sidebar">
        <ul>
          {VIEWS.map((v) => (
            <li key={v.name}>
              <button
                type="button"
                aria-current={view === v.name && !nodePage ? 'page' : undefined}
                onClick={() => {
                  openNode(null);
                  setView(v.name);
                }}
              >
                {v.label}
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <main className="content">
        <AlertBanner />
        {/* One boundary per view, keyed by it: a crashed view is left behind by navigating away. */}
        {nodePage ? (
          <ViewBoundary key={`node:${nodePage}`} view="Node">
            <NodePage />
          </ViewBoundary>
        ) : (
          <ViewBoundary key={view} view={VIEWS.find((v) => v.name === view)?.label ?? view}>
            <ViewContent view={view} />
          </ViewBoundary>
        )}
      </main>
      <CommandPalette />
    </div>
  );
}

function ViewContent(props: { view: ViewName }) {
  const view = props.view;
  const openNode = useFleetUi((s) => s.openNode);
  return (
    <>
      {view === 'clusters' ? <ClustersView /> : null}
      {view === 'pools' ? <PoolsView /> : null}
      {view === 'nodes' ? <NodesView /> : null}
      {view === 'apps' ? <AppsView /> : null}
      {view === 'topology' ? <TopologyView onOpenNode={openNode} /> : null}
      {view === 'events' ? <EventsView /> : null}
      {view === 'alerts' ? <AlertsView /> : null}
      {view === 'provision' ? <ProvisionView /> : null}
    </>
  );
}
