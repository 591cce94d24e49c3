import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { createAppStore } from './store/app-store.ts';
import { StoreProvider } from './store/context.tsx';
import { ProvisionProvider } from './store/provision-context.tsx';
import { createProvisionStore } from './store/provision-store.ts';
import { applyInitialTheme } from './theme.tsx';
import { connectTransport } from './transport/index.ts';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
applyInitialTheme();
const transport = connectTransport();
const store = createAppStore(transport);
const provision = createProvisionStore(transport);
createRoot(root).render(
  <StrictMode>
    <StoreProvider store={store}>
      <ProvisionProvider store={provision}>
        <App />
      </ProvisionProvider>
    </StoreProvider>
  </StrictMode>,
);
