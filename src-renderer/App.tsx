/** The window's shell. The fleet views (clusters, pools, nodes, topology) land here next. */
export function App() {
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', padding: 24 }}>
      <h1>EdgeFleet</h1>
      <p data-testid="shell-status">No clusters yet. Cluster, pool and provisioning views are coming.</p>
    </main>
  );
}
