import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, type IpcMainInvokeEvent, ipcMain, Notification, session, shell } from 'electron';
import { notesFor } from '../alerts/notify.ts';
import { type MainApp, startApp } from '../app.ts';
import { demoFlagsFromEnv, startDemoWithConsole } from '../demo/autostart.ts';
import type { AlertsDiff } from '../ipc/alerts-types.ts';
import { REQUEST_CHANNELS } from '../ipc/contract.ts';
import { fail } from '../ipc/errors.ts';

// The only place that imports electron: services are composed by ../app.ts as plain Node.
const RENDERER_INDEX = join(import.meta.dirname, '../renderer/index.html');
const RENDERER_URL = pathToFileURL(RENDERER_INDEX).href;

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** Only our own top-level page may call main; a navigated or embedded frame may not. */
function fromOurPage(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return !!frame && frame.parent === null && frame.url.split('#')[0] === RENDERER_URL;
}

function registerIpc(main: MainApp): void {
  for (const channel of REQUEST_CHANNELS) {
    ipcMain.handle(channel, (event, input: unknown) => {
      if (!fromOurPage(event)) {
        main.log(`refused ${channel} from ${event.senderFrame?.url ?? 'an unknown frame'}`);
        return fail('ipc/forbidden-sender', 'IPC is only accepted from the EdgeFleet window');
      }
      return main.router.handle(channel, input);
    });
  }
}

function createWindow(main: MainApp): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    title: 'EdgeFleet',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  const unsubscribe = main.subscribe((channel, payload) => {
    if (!win.isDestroyed()) win.webContents.send(channel, payload);
  });
  win.on('closed', unsubscribe);
  // The window shows our UI only: links open in the system browser, navigation is refused.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (event) => event.preventDefault());
  void win.loadFile(RENDERER_INDEX);
  return win;
}

/** Alerts that start firing raise a desktop notification where the platform has them; clicking one shows the window. */
function notifyAlerts(main: MainApp, win: BrowserWindow): void {
  if (!Notification.isSupported()) {
    main.log('desktop notifications are not supported here; alerts show in the app banner only');
    return;
  }
  main.subscribe((channel, payload) => {
    if (channel !== 'alerts:changed') return;
    for (const note of notesFor(payload as AlertsDiff)) {
      const n = new Notification({
        title: note.title,
        body: note.body,
        urgency: note.urgent ? 'critical' : 'normal',
      });
      n.on('click', () => {
        if (!win.isDestroyed()) win.show();
      });
      n.show();
    }
  });
}

async function boot(): Promise<void> {
  await app.whenReady();
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  const demo = demoFlagsFromEnv(process.env);
  // The bundle runs from out/main, so a path relative to the module would miss the repo's
  // resources/ (agent bundle, Node runtimes, units): the app's root holds them.
  const main = await startApp({ demoNodes: demo.nodes, resourcesDir: join(app.getAppPath(), 'resources') });
  registerIpc(main);
  const win = createWindow(main);
  notifyAlerts(main, win);
  if (demo.demo) startDemoWithConsole(main, demo.nodes, (line) => console.log(line));
  app.on('window-all-closed', () => {
    void main.close().finally(() => app.quit());
  });
}

boot().catch((err: unknown) => {
  console.error(`EdgeFleet failed to start: ${err instanceof Error ? err.message : String(err)}`);
  app.exit(1);
});
