import { contextBridge } from 'electron';

// The renderer gets a narrow, allow-listed bridge; the typed IPC surface is added here.
contextBridge.exposeInMainWorld('edgefleet', { transport: 'electron' });
