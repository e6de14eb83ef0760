import { describe } from 'vitest';
import { testSeedRange } from './seeds.js';

describe('simulator seeds 251..375', () => testSeedRange(251, 125));
