/** Gradient-mode controls (synchronous, like tidy: a mode must not leak across `await`). */
import { native } from "./native.ts";

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = native.setGradEnabled(enabled);
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new TypeError("noGrad(fn)/enableGrad(fn): fn must be synchronous");
    }
    return result;
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs `fn` without recording autograd history (`with torch.no_grad()`). */
export const noGrad = <T>(fn: () => T): T => withGradMode(false, fn);
/** Runs `fn` with autograd recording on, even inside `noGrad`. */
export const enableGrad = <T>(fn: () => T): T => withGradMode(true, fn);
export const isGradEnabled = (): boolean => native.isGradEnabled();
