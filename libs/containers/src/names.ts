import { randomInt } from 'node:crypto';
import { InvalidArgumentError } from '@berth/errors';

/** Docker's rule for container names (a leading slash is allowed and ignored). */
const validName = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * Checks a user-given name and returns it in its stored form, with the leading slash (`/web`).
 * Throws InvalidArgumentError with Docker's message for a name that does not match.
 */
export function normalizeName(name: string): string {
  if (!validName.test(name)) {
    throw new InvalidArgumentError(
      `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      { code: 'INVALID_CONTAINER_NAME', detail: { name } },
    );
  }
  return name.startsWith('/') ? name : `/${name}`;
}

// A selection of the words of Docker's namesgenerator (pkg/namesgenerator).
const adjectives = [
  'admiring', 'adoring', 'affectionate', 'agitated', 'amazing', 'angry', 'awesome', 'beautiful',
  'blissful', 'bold', 'boring', 'brave', 'busy', 'charming', 'clever', 'compassionate', 'competent',
  'condescending', 'confident', 'cool', 'cranky', 'crazy', 'dazzling', 'determined', 'distracted',
  'dreamy', 'eager', 'ecstatic', 'elastic', 'elated', 'elegant', 'eloquent', 'epic', 'exciting',
  'fervent', 'festive', 'flamboyant', 'focused', 'friendly', 'frosty', 'funny', 'gallant', 'gifted',
  'goofy', 'gracious', 'great', 'happy', 'hardcore', 'heuristic', 'hopeful', 'hungry', 'infallible',
  'inspiring', 'intelligent', 'interesting', 'jolly', 'jovial', 'keen', 'kind', 'laughing', 'loving',
  'lucid', 'magical', 'modest', 'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty',
  'nostalgic', 'objective', 'optimistic', 'peaceful', 'pedantic', 'pensive', 'practical', 'priceless',
  'quirky', 'quizzical', 'recursing', 'relaxed', 'reverent', 'romantic', 'sad', 'serene', 'sharp',
  'silly', 'sleepy', 'stoic', 'strange', 'stupefied', 'suspicious', 'sweet', 'tender', 'thirsty',
  'trusting', 'unruffled', 'upbeat', 'vibrant', 'vigilant', 'vigorous', 'wizardly', 'wonderful',
  'xenodochial', 'youthful', 'zealous', 'zen',
];
const surnames = [
  'agnesi', 'albattani', 'allen', 'archimedes', 'babbage', 'banach', 'bardeen', 'bartik', 'bassi',
  'bell', 'bhabha', 'blackwell', 'bohr', 'booth', 'borg', 'bose', 'brahmagupta', 'brattain', 'brown',
  'cannon', 'carson', 'cerf', 'chandrasekhar', 'clarke', 'curie', 'darwin', 'davinci', 'diffie',
  'dijkstra', 'dubinsky', 'easley', 'einstein', 'elion', 'engelbart', 'euclid', 'euler', 'fermat',
  'fermi', 'feynman', 'franklin', 'galileo', 'gates', 'goldberg', 'goldstine', 'goodall', 'hamilton',
  'hawking', 'heisenberg', 'hellman', 'hodgkin', 'hopper', 'hypatia', 'jackson', 'jennings', 'johnson',
  'kalam', 'keller', 'kepler', 'khorana', 'knuth', 'kowalevski', 'lalande', 'lamarr', 'lamport',
  'leakey', 'lovelace', 'lumiere', 'mayer', 'mccarthy', 'mcclintock', 'meitner', 'mendel', 'mirzakhani',
  'montalcini', 'moore', 'morse', 'napier', 'newton', 'nobel', 'noether', 'noyce', 'pascal', 'pasteur',
  'perlman', 'pike', 'poincare', 'ptolemy', 'raman', 'ramanujan', 'ritchie', 'rosalind', 'sammet',
  'shannon', 'shaw', 'shockley', 'sinoussi', 'snyder', 'spence', 'stonebraker', 'swanson', 'tesla',
  'thompson', 'torvalds', 'turing', 'varahamihira', 'villani', 'wescoff', 'wiles', 'williams',
  'wilson', 'wing', 'wozniak', 'wright', 'yalow', 'yonath',
];

/**
 * A random `adjective_surname` name like Docker's, without the slash. `retry` > 0 appends a digit
 * (Docker does the same after a collision). Steve Wozniak is not boring.
 */
export function generateName(retry = 0): string {
  for (;;) {
    const name = `${adjectives[randomInt(adjectives.length)]}_${surnames[randomInt(surnames.length)]}`;
    if (name === 'boring_wozniak') continue;
    return retry > 0 ? `${name}${randomInt(10)}` : name;
  }
}
