// Helpers shared by the forms.

/**
 * markField marks the field an error message is about (aria-invalid), clearing the others.
 * fields: inputs by API field name (one input may stand for several names, as the mock
 * form's path input does for path_pattern and path_regex); hint: an error message
 * ("path_pattern must start with /") or a field name, or null to clear every mark.
 */
export function markField(fields, hint) {
  const text = String(hint ?? '');
  let hit = null;
  if (text !== '') {
    for (const [name, input] of Object.entries(fields)) {
      if (text === name || text.startsWith(`${name} `) || text.includes(` ${name} `)) {
        hit = input;
        break;
      }
    }
  }
  for (const input of new Set(Object.values(fields))) {
    if (input === hit) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
}
