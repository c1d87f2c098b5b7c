// Sample paths for a mock's "Try" button: a path a mock's path_pattern or path_regex is
// likely to match. Best effort and pure (strings in, strings out): the Request Lab sends the
// sample, and its answer shows whether the mock took it; the server stays the judge.

/**
 * samplePattern turns a path_pattern into a path: {name} and * become "1" and "x",
 * {name:regex} a sample of its regex, a glob's * "x" ("/img/*.png" → "/img/x.png").
 */
export function samplePattern(pattern) {
  const s = String(pattern ?? '');
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '{') {
      // The parameter runs to its matching brace: its regex may hold braces ("\d{2}").
      let depth = 1;
      let j = i + 1;
      while (j < s.length && depth > 0) {
        if (s[j] === '\\') j++;
        else if (s[j] === '{') depth++;
        else if (s[j] === '}') depth--;
        j++;
      }
      const inner = s.slice(i + 1, j - 1);
      const colon = inner.indexOf(':');
      out += colon < 0 ? '1' : sampleRegex(inner.slice(colon + 1)) || '1';
      i = j - 1;
    } else if (c === '*') {
      out += 'x';
    } else {
      out += c;
    }
  }
  return out || '/';
}

/**
 * samplePath returns a path to try for a mock: from its path_regex when it has one,
 * otherwise from its path_pattern.
 */
export function samplePath(mock) {
  if (mock.path_regex) {
    const p = sampleRegex(mock.path_regex);
    return p.startsWith('/') ? p : `/${p}`;
  }
  return samplePattern(mock.path_pattern);
}

/**
 * sampleRegex returns a string an RE2 regex probably matches: the first alternative of each
 * choice, one of each repeated atom (n of "{n}"), "1" for digits, "a" for word characters,
 * "x" for "." and negated classes. Anchors and flags are dropped.
 */
export function sampleRegex(re) {
  const s = String(re ?? '');
  let i = 0;

  // seq samples a sequence up to ")" or the end, taking the first alternative of a "|".
  function seq() {
    const atoms = [];
    while (i < s.length && s[i] !== ')') {
      const c = s[i];
      if (c === '|') {
        skipAlternatives();
        break;
      }
      if (c === '*' || c === '+' || c === '?') {
        i++;
        if (s[i] === '?') i++; // lazy
        continue;
      }
      if (c === '{' && /^\{\d+(,\d*)?\}/.test(s.slice(i))) {
        const m = /^\{(\d+)(,\d*)?\}/.exec(s.slice(i));
        i += m[0].length;
        if (s[i] === '?') i++;
        const n = Math.min(Number(m[1]), 64);
        if (atoms.length) atoms[atoms.length - 1] = atoms[atoms.length - 1].repeat(Math.max(n, 0));
        continue;
      }
      atoms.push(atom());
    }
    return atoms.join('');
  }

  // skipAlternatives moves past the rest of a choice, to its ")" or the end.
  function skipAlternatives() {
    let depth = 0;
    while (i < s.length) {
      const c = s[i];
      if (c === '\\') i++;
      else if (c === '[') skipClass();
      else if (c === '(') depth++;
      else if (c === ')') {
        if (depth === 0) return;
        depth--;
      }
      i++;
    }
  }

  function skipClass() {
    i++;
    if (s[i] === '^') i++;
    if (s[i] === ']') i++;
    while (i < s.length && s[i] !== ']') {
      if (s[i] === '\\') i++;
      else if (s[i] === '[' && s[i + 1] === ':') {
        const end = s.indexOf(':]', i + 2);
        if (end > 0) i = end + 1;
      }
      i++;
    }
  }

  // atom samples one atom and moves past it.
  function atom() {
    const c = s[i];
    if (c === '^' || c === '$') {
      i++;
      return '';
    }
    if (c === '.') {
      i++;
      return 'x';
    }
    if (c === '\\') {
      const e = s[i + 1] ?? '';
      i += 2;
      if (e === 'd') return '1';
      if (e === 'w') return 'a';
      if (e === 'D' || e === 'W' || e === 'S' || e === 's') return 'x';
      if (e === 'A' || e === 'z' || e === 'b' || e === 'B') return '';
      if (e === 'p' || e === 'P') {
        if (s[i] === '{') i = Math.max(s.indexOf('}', i) + 1, i + 1);
        else i++;
        return 'a';
      }
      if (e === 'Q') {
        const end = s.indexOf('\\E', i);
        const lit = s.slice(i, end < 0 ? s.length : end);
        i = end < 0 ? s.length : end + 2;
        return lit;
      }
      return e;
    }
    if (c === '[') {
      const start = i;
      skipClass();
      i++;
      return sampleClass(s.slice(start + 1, i - 1));
    }
    if (c === '(') {
      i++;
      if (s[i] === '?') {
        // (?:…), (?P<name>…), (?<name>…), flags (?i) or (?i:…)
        const m = /^\?(P?<[^>]*>|[a-zA-Z-]*:?|)/.exec(s.slice(i));
        i += m[0].length;
        if (s[i] === ')') {
          i++;
          return '';
        }
      }
      const inner = seq();
      if (s[i] === ')') i++;
      return inner;
    }
    i++;
    return c;
  }

  return seq();
}

/** sampleClass returns a character the body of "[…]" matches, or "x". */
function sampleClass(body) {
  if (body.startsWith('^')) return 'x';
  if (/0-9|\\d|\[:digit:\]/.test(body)) return '1';
  if (/a-z|\\w|\[:alpha:\]|\[:alnum:\]|\[:lower:\]/.test(body)) return 'a';
  if (/A-Z|\[:upper:\]/.test(body)) return 'A';
  const first = body[0] === '\\' ? body[1] : body[0];
  return first ?? 'x';
}
