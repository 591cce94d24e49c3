/** Steps in the app's UI that several e2e tests take: the left navigation, importing and opening a kubeconfig. */
import type { Locator, Page } from 'playwright';

/** A button of the left navigation. */
export const navButton = (page: Page, name: string): Locator =>
  page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name });

/** Imports a kubeconfig file on the Clusters view and opens it. */
export async function importAndOpen(page: Page, path: string, name: string): Promise<void> {
  await navButton(page, 'Clusters').click();
  await page.getByLabel('Kubeconfig path').fill(path);
  await page.getByLabel('Name (optional)').fill(name);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await openSource(page, path);
}

/** Opens (or reopens) an already imported source and waits until it is connected. */
export async function openSource(page: Page, path: string): Promise<void> {
  await navButton(page, 'Clusters').click();
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
