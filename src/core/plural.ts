/** "1 token", "2 tokens": every count shown to a person goes through here. */
export const plural = (count: number, noun: string, nouns = `${noun}s`) => `${count} ${count === 1 ? noun : nouns}`;
