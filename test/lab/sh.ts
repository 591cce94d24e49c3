// Moved to src-main/demo/sh.ts (the app's demo fleet uses it too); re-exported so lab code keeps its imports.
export * from '../../src-main/demo/sh.ts';
