import type { BuildOptions, Plugin } from 'esbuild';

export declare const builtinsViaRequire: Plugin;
export declare function agentBuildOptions(root: string, outfile: string, version: string): BuildOptions;
