// @ts-check
/** Placeholder until the view lands (this session): mount(host) fills the view's section. */
/** @param {HTMLElement} host */
export async function mount(host) {
  const p = document.createElement('p');
  p.className = 'note';
  p.textContent = 'This view is being built.';
  host.append(p);
}
