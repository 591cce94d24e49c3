/** Steps the UI e2e tests share: the sidebar's views, and importing and opening a kubeconfig. */
import type { Locator, Page } from 'playwright';

/** The sidebar button of a view (Clusters, Node pools, Nodes, …). */
export const viewButton = (page: Page, name: string): Locator =>
  page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name });

/** Opens an imported (or detected) source from the Clusters view and waits until it is connected. */
export async function openSource(page: Page, path: string): Promise<void> {
  await viewButton(page, 'Clusters').click();
  const open = page
    .getByRole('row')
    .filter({ hasText: path })
    .getByRole('button', { name: /^(Open|Reopen) / });
  await open.waitFor({ timeout: 15_000 });
  await open.click();
  await page
    .getByRole('status', { name: 'Cluster connection' })
    .getByText('Connected')
    .waitFor({ timeout: 30_000 });
}

/** Imports a kubeconfig from the Clusters view under `name`, then opens it. */
export async function importAndOpen(page: Page, path: string, name: string): Promise<void> {
  await viewButton(page, 'Clusters').click();
  await page.getByLabel('Kubeconfig path').fill(path);
  await page.getByLabel('Name (optional)').fill(name);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await openSource(page, path);
}
