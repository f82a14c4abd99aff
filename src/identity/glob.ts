// Role bindings match claim values with '*' globs ("team-*", "*@example.com"). Matching is done by
// scanning literal pieces instead of building a RegExp, so a binding can never be a regex injection
// and a pathological pattern cannot backtrack.

/** True when `value` matches `pattern`, where '*' stands for any run of characters (also none). Case-sensitive. */
export function globMatch(pattern: string, value: string): boolean {
  const pieces = pattern.split('*');
  if (pieces.length === 1) return pattern === value;
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  // The middle pieces must appear in order between the fixed prefix and suffix; taking the leftmost
  // occurrence of each is always safe for '*'-only globs.
  let at = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i]!;
    if (piece === '') continue;
    const found = value.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}
