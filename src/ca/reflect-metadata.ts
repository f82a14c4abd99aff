/**
 * The few `Reflect` metadata functions that tsyringe (the dependency-injection container inside
 * @peculiar/x509) calls when it loads. The library asks its users to load a polyfill such as
 * `reflect-metadata` first; this is the subset tsyringe actually uses, so the CA needs no extra
 * package. A real polyfill loaded earlier wins: we only fill in what is missing.
 */
type MetadataKey = unknown;
type PropertyKeyOrNone = string | symbol | undefined;

const store = new WeakMap<object, Map<PropertyKeyOrNone, Map<MetadataKey, unknown>>>();

function ownMap(target: object, propertyKey: PropertyKeyOrNone, create: boolean): Map<MetadataKey, unknown> | undefined {
  let byProperty = store.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let metadata = byProperty.get(propertyKey);
  if (!metadata && create) {
    metadata = new Map();
    byProperty.set(propertyKey, metadata);
  }
  return metadata;
}

function defineMetadata(key: MetadataKey, value: unknown, target: object, propertyKey?: string | symbol): void {
  ownMap(target, propertyKey, true)?.set(key, value);
}

function hasOwnMetadata(key: MetadataKey, target: object, propertyKey?: string | symbol): boolean {
  return ownMap(target, propertyKey, false)?.has(key) ?? false;
}

function getOwnMetadata(key: MetadataKey, target: object, propertyKey?: string | symbol): unknown {
  return ownMap(target, propertyKey, false)?.get(key);
}

// Inherited lookup walks the prototype chain, as the real polyfill does for classes that extend others.
function getMetadata(key: MetadataKey, target: object, propertyKey?: string | symbol): unknown {
  for (let current: object | null = target; current !== null; current = Object.getPrototypeOf(current)) {
    const metadata = ownMap(current, propertyKey, false);
    if (metadata?.has(key)) return metadata.get(key);
  }
  return undefined;
}

function hasMetadata(key: MetadataKey, target: object, propertyKey?: string | symbol): boolean {
  for (let current: object | null = target; current !== null; current = Object.getPrototypeOf(current)) {
    if (ownMap(current, propertyKey, false)?.has(key)) return true;
  }
  return false;
}

function metadata(key: MetadataKey, value: unknown) {
  return (target: object, propertyKey?: string | symbol): void => defineMetadata(key, value, target, propertyKey);
}

const reflect = Reflect as unknown as Record<string, unknown>;
const functions: Record<string, unknown> = { defineMetadata, hasOwnMetadata, getOwnMetadata, getMetadata, hasMetadata, metadata };
for (const [name, fn] of Object.entries(functions)) {
  if (typeof reflect[name] !== 'function') reflect[name] = fn;
}
