import { describe } from 'vitest';
import { testSeedRange } from './seeds.js';

describe('simulator seeds 376..500', () => testSeedRange(376, 125));
