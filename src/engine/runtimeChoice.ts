// The one choice between the learned models and the lexical-only fallback, for the engine host and the
// CLI alike: when the models cannot load, memory still works on word matches, in a store folder of its
// own so the learned gists of the real store are kept for when the models are back.
import { join } from 'node:path';
import { LexicalRuntime } from '../core/lexicalRuntime';
import type { ModelRuntime } from '../core/runtime';

/** Where the lexical-only tree is stored, inside the store folder. */
export const LEXICAL_STORE_SUBDIR = 'lexical-only';

export interface RuntimeChoice {
  runtime: ModelRuntime;
  /** The store folder for this runtime's tree (the lexical-only one has its own); undefined: none. */
  storeDir: string | undefined;
  /** Set when the models did not load: why (every surface says so). */
  lexicalOnly?: string;
}

/**
 * The runtime `load` gives, or the lexical-only runtime when it throws an error `fallsBack` accepts
 * (by default every error: the engine host must keep serving); other errors are rethrown.
 */
export async function chooseRuntime(
  load: () => Promise<ModelRuntime>,
  storeDir: string | undefined,
  fallsBack: (err: unknown) => boolean = () => true,
): Promise<RuntimeChoice> {
  try {
    return { runtime: await load(), storeDir };
  } catch (err) {
    if (!fallsBack(err)) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    return { runtime: new LexicalRuntime(reason), storeDir: storeDir && join(storeDir, LEXICAL_STORE_SUBDIR), lexicalOnly: reason };
  }
}

/** Why a runtime is the lexical-only fallback, or undefined for the learned models. */
export function lexicalOnlyReason(runtime: ModelRuntime): string | undefined {
  return runtime instanceof LexicalRuntime ? runtime.reason : undefined;
}
