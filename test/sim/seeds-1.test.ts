import { describe } from 'vitest';
import { testSeedRange } from './seeds.js';

describe('simulator seeds 1..125', () => testSeedRange(1, 125));
