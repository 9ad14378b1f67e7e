// The zero-code flag's ESM loader hook, copied to dist/esm-loader-hook.mjs at build time and
// registered by register.ts; it runs in Node's loader thread. It is import-in-the-middle's hook
// (the copy @opentelemetry/instrumentation uses, named in `data`), as an instance of its own.
//
// Why not register import-in-the-middle/hook.mjs itself: Node keeps one instance of a hook module
// per URL, and an APM that registers that same file (Sentry 10's `Sentry.init`, with
// `include: []`) initializes that one instance again. Its list of modules to wrap then replaced
// the flag's (openai was no longer instrumented), or, with the flag second, the flag's replaced
// the APM's (Sentry's express spans were gone). Made by import-in-the-middle's own createHook,
// this instance has a list of its own. It also leaves alone the flag by which import-in-the-middle
// warns that "the hook has already been initialized": that is about one instance initialized
// twice, which this is not, and the warning would be printed under every such APM.

let hook;

export async function initialize(data) {
  const { createHook } = await import(data.createHookUrl);
  hook = createHook({ url: data.hookUrl });
  const initialized = globalThis.__import_in_the_middle_initialized__;
  delete globalThis.__import_in_the_middle_initialized__;
  try {
    await hook.initialize({ include: data.include });
  } finally {
    if (initialized === undefined) delete globalThis.__import_in_the_middle_initialized__;
    else globalThis.__import_in_the_middle_initialized__ = initialized;
  }
}

// Until initialize() has made the hook (its own import of createHook comes through here), every
// module passes as it is.
export function resolve(specifier, context, nextResolve) {
  return hook === undefined ? nextResolve(specifier, context) : hook.resolve(specifier, context, nextResolve);
}

export function load(url, context, nextLoad) {
  return hook === undefined ? nextLoad(url, context) : hook.load(url, context, nextLoad);
}
