export { pathMatch, type PathMatchOptions } from './path-match.js';
