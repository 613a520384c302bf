// Human words for the identifiers the API answers with (strategies, sources, weight origins), no DOM: the pages
// show the words and keep the identifier in a tooltip. docs/recommend.md describes what each one is.

const STRATEGIES = {
  new_user: 'New user',
  session_intent: 'Focused session',
  stable_taste: 'Stable taste',
};

const SOURCES = {
  popular: 'Popular',
  covisit: 'Often viewed together',
  content: 'Similar content',
  interest_now: 'Current interests',
  interest_long: 'Long-term interests',
  item_knn: 'Similar to your history',
  model: 'Behaviour model',
};

/** "some_id" -> "Some id": the words of an identifier the tables above do not know (a newer server's). */
export function words(id) {
  const s = String(id ?? '').replace(/[_-]+/g, ' ').trim();
  return s ? s[0].toUpperCase() + s.slice(1) : '–';
}

/** The name of a strategy id ("stable_taste" -> "Stable taste"). */
export const strategyName = (id) => STRATEGIES[id] ?? words(id);

/** The name of a candidate source id ("item_knn" -> "Similar to your history"). */
export const sourceName = (id) => SOURCES[id] ?? words(id);
