# Python quick start 1: a KL-DRO classifier on Fashion-MNIST arrays (Debian package
# dataset-fashion-mnist), with the worst class accuracy it buys.
import gzip

import numpy as np

import lsekit


def idx(name):
    with gzip.open("/usr/share/datasets/fashion-mnist/" + name) as f:
        data = f.read()
    ndim = data[3]
    shape = np.frombuffer(data, ">u4", ndim, 4)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


X = idx("train-images-idx3-ubyte.gz").reshape(-1, 784)[:10000] / np.float32(255)  # float32
y = idx("train-labels-idx1-ubyte.gz")[:10000]
Xt = idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784) / np.float32(255)
yt = idx("t10k-labels-idx1-ubyte.gz")

clf = lsekit.DROClassifier(lam=1.0, l2=1e-3, epochs=5, eval_points=6, seed=1)
clf.fit(X, y, progress=lambda row: print("step %(step)d  F = %(objective).6f" % row))
print(clf.result_.brief_report)
per_class = [clf.score(Xt[yt == k], yt[yt == k]) for k in clf.classes_]
print("status %s, objective %.6f" % (clf.status_, clf.objective_))
print("test accuracy %.3f, worst class %.3f" % (clf.score(Xt, yt), min(per_class)))
