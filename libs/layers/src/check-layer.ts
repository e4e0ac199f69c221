import { cleanLayerPath } from './apply-layer.js';
import { readTar } from './tar-format.js';

/**
 * Reads a whole (uncompressed) layer tar and throws the InvalidArgumentError of `applyLayer` for
 * the first entry whose name or hardlink target would land outside the root (`../x`, `a/../../x`).
 * Lets `docker import` refuse a hostile archive when it arrives instead of when it is unpacked.
 * (Symlinks that a later entry would traverse are checked by applyLayer, which sees the tree.)
 */
export async function checkLayerPaths(chunks: AsyncIterable<Buffer>): Promise<void> {
  for await (const entry of readTar(chunks)) {
    const { name, type, linkname } = entry.header;
    cleanLayerPath(name);
    if (type === 'link' && linkname) cleanLayerPath(linkname, name);
  }
}
