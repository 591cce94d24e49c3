// `npm start`: builds if needed, then runs Electron where its binary is installed; otherwise
// says so in one line and serves the same app (services + IPC over an authenticated WebSocket)
// to a browser on 127.0.0.1. EDGEFLEET_BROWSER=1 forces browser mode; EDGEFLEET_PORT fixes the port.
// `--demo [--demo-nodes N]` also starts the local demo fleet (src-main/demo) and opens it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const { parseDemoFlags } = await import('../src-main/demo/autostart.ts');
let demoFlags;
try {
  demoFlags = parseDemoFlags(process.argv.slice(2), process.env);
} catch (e) {
  console.error(`start: ${e.message}`);
  process.exit(2);
}

if (!existsSync('out/renderer/index.html') || process.env.EDGEFLEET_REBUILD === '1') {
  const r = spawnSync('npx', ['electron-vite', 'build'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status || 1);
}

function electronBinary() {
  const dir = 'node_modules/electron';
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const bin = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(bin) ? bin : null;
}

const electron = process.env.EDGEFLEET_BROWSER === '1' ? null : electronBinary();
if (electron) {
  // Electron's main reads the demo flags from the environment (src-main/demo/autostart.ts).
  const env = {
    ...process.env,
    EDGEFLEET_DEMO: demoFlags.demo ? '1' : '0',
    EDGEFLEET_DEMO_NODES: String(demoFlags.nodes),
  };
  const child = spawn(electron, ['.'], { stdio: 'inherit', env });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  const { startApp } = await import('../src-main/app.ts');
  const { startBrowserHost } = await import('../src-main/browser-host/server.ts');
  const app = await startApp({ demoNodes: demoFlags.nodes });
  const host = await startBrowserHost({
    rendererDir: 'out/renderer',
    port: Number(process.env.EDGEFLEET_PORT) || 0,
    ipc: {
      router: app.router,
      subscribe: app.subscribe,
      snapshotFor: (id) => app.clusters.liveCluster(id)?.snapshot(),
    },
    log: app.log,
  });
  if (process.env.EDGEFLEET_BROWSER !== '1') {
    console.log(
      "Electron's binary is not installed here (it cannot be downloaded on this machine); browser mode.",
    );
  }
  // One line with the URL, so people can click it and tests can read it.
  console.log(`EdgeFleet is running: open ${host.url}`);
  if (demoFlags.demo) {
    const { startDemoWithConsole } = await import('../src-main/demo/autostart.ts');
    startDemoWithConsole(app, demoFlags.nodes, (line) => console.log(line));
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await host.close();
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
