// Lets `node --import ./bench/register.mjs bench/run.ts` run the TypeScript bench without the tsx CLI.
import 'tsx';
