// Every DSL test runs on the stock cpu backend unless a test file picks another.
import * as tf from '@tensorflow/tfjs';

tf.env().set('IS_TEST', true);
await tf.setBackend('cpu');
