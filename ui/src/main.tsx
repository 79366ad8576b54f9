import { render } from 'preact';
import { App } from './app.tsx';
import { store } from './store.ts';
import './styles.css';

render(<App />, document.getElementById('app')!);
store
  .loadConfig()
  .then(() => store.connect())
  .catch((e: unknown) => {
    store.liveStatus = 'closed';
    store.liveDetail = e instanceof Error ? e.message : String(e);
    store.changed();
  });
