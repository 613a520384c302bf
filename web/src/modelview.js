// What the Models page says of the serving model (no DOM: unit-tested under node). A model given with --model is
// not a kept version: it has a version of its own ("ext-<hash>"), is not in the table, and the page says where it
// was loaded from rather than "No version yet".

/** m: the answer of GET /v1/models. {serving: the summary line, kept: whether it is a kept version, empty: the
 * table's text when it has no row}. */
export function modelsSummary(m) {
  const versions = m.versions || [];
  const current = m.current && m.current !== 'none' ? m.current : '';
  const kept = !!current && versions.some((v) => v.version === current);
  const training = m.training ? ' · a new version is training…' : '';
  let serving;
  if (!current) serving = 'No behaviour model serves: recommendations come from the other sources.';
  else if (kept) serving = `Serving ${current} (a kept version${m.current_path ? `, loaded from ${m.current_path}` : ''}).`;
  else serving = `Serving ${current} (loaded from --model ${m.current_path || '(path unknown)'}, not a kept version).`;
  const empty = current && !kept
    ? `No kept version yet: the serving model ${current} was given with --model and is not kept here. Press “Retrain now” to train one.`
    : 'No kept version yet: press “Retrain now” to train one.';
  return { serving: serving + training, kept, empty };
}
