// What every route plugin needs: the model store and the scheduler that owns the runners.
import { InvalidRequestError, MESSAGES, ModelNotFoundError } from "../api/errors.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import { InvalidModelNameError, parseModelName } from "../store/names.ts";
import { ModelNotInStoreError, type Store, type StoredModel } from "../store/store.ts";

export interface AppContext {
  store: Store;
  scheduler: Scheduler;
}

/**
 * A model of the store by the name a client sent; a missing one is Ollama's 404 in the wording the route uses
 * (`model 'x' not found` by default), an unparsable name is 400 `invalid model name`.
 */
export function findModel(
  store: Store,
  name: string,
  notFound: (name: string) => Error = (n) => new ModelNotFoundError(n),
): StoredModel {
  if (!name) throw notFound(name);
  try {
    return store.get(name);
  } catch (error) {
    if (error instanceof ModelNotInStoreError) throw notFound(name);
    if (error instanceof InvalidModelNameError) throw new InvalidRequestError(MESSAGES.invalidModelName);
    throw error;
  }
}

/** A name a pull or push can go to: 400 "invalid model name" otherwise (as Ollama). */
export function checkModelName(model: string): void {
  try {
    parseModelName(model);
  } catch (error) {
    if (error instanceof InvalidModelNameError) throw new InvalidRequestError(MESSAGES.invalidModelName);
    throw error;
  }
}
