/** The components of a backup, in the order they are listed, backed up and restored. */
export const COMPONENTS = ["postgres", "redis", "milvus", "uploads", "config"] as const;
export type ComponentName = (typeof COMPONENTS)[number];

/** Pure: whether `name` is a component. */
export const isComponentName = (name: string): name is ComponentName => (COMPONENTS as readonly string[]).includes(name);
