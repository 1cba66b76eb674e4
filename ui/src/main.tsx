import { createRoot } from 'react-dom/client';
import { App, preloadPage } from './app';
import './styles.css';

preloadPage(location.pathname);
createRoot(document.getElementById('root')!).render(<App />);
