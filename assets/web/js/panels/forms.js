// Helpers shared by the forms.

/**
 * markField marks the field an error message is about (aria-invalid), clearing the others.
 * fields: inputs by API field name; hint: an error message ("path_pattern must start with /")
 * or a field name, or null to clear every mark.
 */
export function markField(fields, hint) {
  let marked = false;
  const text = String(hint ?? '');
  for (const [name, input] of Object.entries(fields)) {
    const hit = !marked && text !== '' && (text === name || text.startsWith(`${name} `) || text.includes(` ${name} `));
    if (hit) {
      input.setAttribute('aria-invalid', 'true');
      marked = true;
    } else {
      input.removeAttribute('aria-invalid');
    }
  }
}
