// Runs the koppa CLI from source in a child process (tests that kill or restart a broker).
import { main } from '../../src/cli/main.js';

await main(process.argv.slice(2));
