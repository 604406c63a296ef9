// Small DOM helpers. Text from a Trace only ever goes in through textContent.

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

export function button(label: string, cls: string, onClick: () => void, title?: string): HTMLButtonElement {
  const b = el("button", { class: cls, type: "button" }, label);
  b.setAttribute("aria-label", label);
  if (title) b.title = title;
  b.addEventListener("click", onClick);
  return b;
}
