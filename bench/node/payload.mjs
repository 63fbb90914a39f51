// The shared 16 KB JSON document of the /big row (built once; every server serializes it per request).
export const big = {
  items: Array.from({ length: 105 }, (_, i) => ({
    id: i, name: `item-${i}`, price: i * 1.25, tags: ['alpha', 'beta', 'gamma'], active: i % 2 === 0,
    description: 'x'.repeat(48),
  })),
};
