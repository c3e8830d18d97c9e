/** Tokens per block (LOD0 entry / LOD1 node). */
export const BLOCK_TOKENS = 32;
/** LOD1 nodes per LOD2 node. */
export const GROUP_BLOCKS = 32;
/** Tokens spanned by one LOD2 node. */
export const GROUP_TOKENS = BLOCK_TOKENS * GROUP_BLOCKS;

/** Levels of detail. 3 is a document collapsed to its one-line root. */
export type Lod = 0 | 1 | 2 | 3;
