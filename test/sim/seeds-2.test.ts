import { describe } from 'vitest';
import { testSeedRange } from './seeds.js';

describe('simulator seeds 126..250', () => testSeedRange(126, 125));
