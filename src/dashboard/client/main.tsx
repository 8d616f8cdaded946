import { render } from 'preact';
import { App } from './app.tsx';

const root = document.getElementById('root')!;
// Preact renders next to what is there: the "Loading…" text of the HTML shell goes first.
root.replaceChildren();
render(<App />, root);
