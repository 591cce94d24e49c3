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

/** Registers a host from the Provisioning view's form (SSH as root by key); resolves with the form once it is listed. */
export async function addHostInUi(
  page: Page,
  h: { site: string; name: string; address: string; privateKey: string },
): Promise<Locator> {
  await viewButton(page, 'Provisioning').click();
  await page.getByRole('heading', { name: 'Provisioning' }).waitFor();
  const form = page.getByRole('form', { name: 'Add a host' });
  await form.getByLabel('Site', { exact: true }).fill(h.site);
  await form.getByLabel('Host name', { exact: true }).fill(h.name);
  await form.getByLabel('Address', { exact: true }).fill(h.address);
  await form.getByLabel('User', { exact: true }).fill('root');
  await form.getByLabel('Private key', { exact: true }).fill(h.privateKey);
  await form.getByRole('button', { name: 'Add host' }).click();
  await page
    .getByRole('table', { name: 'Site hosts' })
    .getByRole('rowheader', { name: h.name, exact: true })
    .waitFor({ timeout: 15_000 });
  return form;
}

/**
 * Checks a registered host's key, compares the fingerprint the prompt shows with the host's own,
 * and accepts it; `beforeAccept` runs while the prompt is up. Resolves with the prompt once the host is trusted.
 */
export async function trustHostKeyInUi(
  page: Page,
  name: string,
  fingerprint: string,
  beforeAccept?: () => Promise<unknown>,
): Promise<Locator> {
  await page.getByRole('button', { name: `Check host key of ${name}` }).click();
  const prompt = page.getByRole('alertdialog', { name: 'Unknown host key' });
  await prompt.waitFor({ timeout: 20_000 });
  const shown = await prompt.getByLabel('Host key fingerprint').inputValue();
  if (shown !== fingerprint) throw new Error(`the prompt shows ${shown}, the host's key is ${fingerprint}`);
  await beforeAccept?.();
  await prompt.getByRole('button', { name: 'Accept this key' }).click();
  await page.getByRole('table', { name: 'Site hosts' }).getByText('trusted').waitFor({ timeout: 20_000 });
  return prompt;
}
