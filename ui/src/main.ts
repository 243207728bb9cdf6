import { mount } from 'svelte';
import App from './App.svelte';
import { guardWindow } from './lib/window';
import './app.css';

guardWindow(window);
mount(App, { target: document.getElementById('app')! });
