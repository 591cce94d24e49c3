import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { DemoProvider } from './demo/context.tsx';
import { createDemoStore } from './demo/demo-store.ts';
import { AlertsProvider } from './store/alerts-context.tsx';
import { createAlertsStore } from './store/alerts-store.ts';
import { createAppStore } from './store/app-store.ts';
import { StoreProvider } from './store/context.tsx';
import { createEventsClient } from './store/events-client.ts';
import { EventsClientProvider } from './store/events-context.tsx';
import { createFleetActions } from './store/fleet-actions.ts';
import { FleetProvider } from './store/fleet-context.tsx';
import { createFleetUi } from './store/fleet-ui.ts';
import { ProvisionProvider } from './store/provision-context.tsx';
import { createProvisionStore } from './store/provision-store.ts';
import { StreamsProvider } from './store/streams-context.tsx';
import { applyInitialTheme } from './theme.tsx';
import { connectTransport } from './transport/index.ts';
import { StreamClient } from './transport/stream-client.ts';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
applyInitialTheme();
const transport = connectTransport();
const store = createAppStore(transport);
const provision = createProvisionStore(transport);
const fleetActions = createFleetActions(transport, store);
const fleetUi = createFleetUi();
const streams = new StreamClient(transport);
const eventsClient = createEventsClient(transport);
const alerts = createAlertsStore(transport, store);
// A demo that comes up is listed as a cluster source: re-read the sources, then open it.
const demo = createDemoStore(transport, {
  onRunning: (clusterId) =>
    void store
      .getState()
      .refresh()
      .then(() => store.getState().openCluster(clusterId)),
});
createRoot(root).render(
  <StrictMode>
    <StoreProvider store={store}>
      <ProvisionProvider store={provision}>
        <DemoProvider store={demo}>
          <FleetProvider actions={fleetActions} ui={fleetUi}>
            <StreamsProvider client={streams}>
              <EventsClientProvider client={eventsClient}>
                <AlertsProvider store={alerts}>
                  <App />
                </AlertsProvider>
              </EventsClientProvider>
            </StreamsProvider>
          </FleetProvider>
        </DemoProvider>
      </ProvisionProvider>
    </StoreProvider>
  </StrictMode>,
);
