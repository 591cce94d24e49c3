import { join } from 'node:path';
import { app, BrowserWindow } from 'electron';

// The only place that imports electron. Services live beside it as plain Node modules.
function createWindow(): void {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    title: 'EdgeFleet',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  });
  void win.loadFile(join(import.meta.dirname, '../renderer/index.html'));
}

app.whenReady().then(createWindow, (err: unknown) => {
  console.error(`EdgeFleet failed to start: ${String(err)}`);
  app.exit(1);
});
app.on('window-all-closed', () => app.quit());
