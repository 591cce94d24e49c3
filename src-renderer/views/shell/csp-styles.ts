/**
 * xterm's DOM renderer keeps its theme colours, cell sizes and cursor in `<style>` elements it
 * creates and rewrites. This app's CSP (`style-src 'self'`, no inline styles) blocks those, which
 * leaves the terminal uncoloured and its cursor unstyled. Constructed stylesheets are CSSOM, which
 * the CSP allows: each such element's text is copied into one, kept in step, and dropped with it.
 */
export function mirrorInlineStyles(root: HTMLElement): () => void {
  const sheets = new Map<HTMLStyleElement, CSSStyleSheet>();
  const adopt = (add: CSSStyleSheet[], remove: CSSStyleSheet[]) => {
    document.adoptedStyleSheets = [...document.adoptedStyleSheets.filter((s) => !remove.includes(s)), ...add];
  };
  const sync = () => {
    const present = new Set(root.querySelectorAll('style'));
    const added: CSSStyleSheet[] = [];
    for (const el of present) {
      let sheet = sheets.get(el);
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheets.set(el, sheet);
        added.push(sheet);
      }
      sheet.replaceSync(el.textContent ?? '');
    }
    const gone: CSSStyleSheet[] = [];
    for (const [el, sheet] of sheets)
      if (!present.has(el)) {
        sheets.delete(el);
        gone.push(sheet);
      }
    if (added.length || gone.length) adopt(added, gone);
  };
  const observer = new MutationObserver(sync);
  observer.observe(root, { subtree: true, childList: true, characterData: true });
  sync();
  return () => {
    observer.disconnect();
    adopt([], [...sheets.values()]);
    sheets.clear();
  };
}
