/**
 * `npm run bench -- observe`: the observability issue's figures. So far the app's alert
 * evaluation over 5,000 nodes (bench/observe-alerts.ts); node-report write costs join here.
 */
import { run as alerts } from './observe-alerts.ts';

export async function run(args: string[]): Promise<void> {
  await alerts(args);
}
