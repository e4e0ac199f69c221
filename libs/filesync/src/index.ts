export { checkContextPath, type ContextFile, listContext, packFiles } from './context-files.js';
export { contextFileFromProto, contextFileToProto } from './convert.js';
export { decodeListing, encodeListing } from './listing-codec.js';
