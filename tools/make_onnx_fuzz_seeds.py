#!/usr/bin/env python3
"""Writes the committed seed corpus of the ONNX fuzz target (Fuzz/corpus/onnx/).

Small, well-formed models built with the `onnx` package that reach every branch of our reader:
initializers as raw_data and as typed fields (float_data, int64_data, int32_data, double_data),
attributes of every kind (float, int, string, tensor, floats, ints, strings, a subgraph),
symbolic and fixed input shapes, two opset imports.
Pinned reference: pip install onnx==1.23.2 numpy. Run from the repository root.
"""
import os
import sys
from importlib.metadata import version

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

if version("onnx") != "1.23.2":
    sys.exit(f"expected onnx==1.23.2, found {version('onnx')}: pip install onnx==1.23.2")

root = "Fuzz/corpus/onnx"
os.makedirs(root, exist_ok=True)
rng = np.random.default_rng(11)


def save(name, graph, opsets=(("", 14),)):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets],
                              producer_name="jarvis-seeds")
    onnx.checker.check_model(model)
    with open(f"{root}/{name}.onnx", "wb") as f:
        f.write(model.SerializeToString())


# 1. A linear layer with raw_data initializers (what exporters write).
w = numpy_helper.from_array(rng.standard_normal((8, 4)).astype(np.float32), "w")
b = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b")
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])],
                      "linear", [x], [y], [w, b])
save("linear", g)

# 2. Typed-field initializers and every attribute kind.
f32 = helper.make_tensor("f32", TensorProto.FLOAT, [3], [1.0, -2.5, 3.25])                 # float_data
i64 = helper.make_tensor("i64", TensorProto.INT64, [2], [4, -1])                           # int64_data
i32 = helper.make_tensor("i32", TensorProto.INT32, [2, 2], [1, 2, 3, -4])                  # int32_data
f64 = helper.make_tensor("f64", TensorProto.DOUBLE, [2], [0.5, 1e-9])                      # double_data
u8 = helper.make_tensor("u8", TensorProto.UINT8, [4], [0, 1, 200, 255])                    # int32_data, narrowed
h16 = numpy_helper.from_array(np.array([1.5, -0.25], dtype=np.float16), "h16")              # raw float16
const = helper.make_node("Constant", [], ["c"], value=helper.make_tensor("cv", TensorProto.FLOAT, [2], [7.0, 8.0]))
attrs = helper.make_node("LayerNormalization", ["x2", "f32", "f32"], ["ln"], axis=-1, epsilon=1e-6)
shape = helper.make_node("Reshape", ["ln", "i64"], ["r"])
conv = helper.make_node("Conv", ["img", "k"], ["conv"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0],
                        auto_pad="NOTSET")
k = numpy_helper.from_array(rng.standard_normal((2, 1, 2, 2)).astype(np.float32), "k")
cast = helper.make_node("Cast", ["conv"], ["cast"], to=TensorProto.FLOAT)
sm = helper.make_node("Softmax", ["cast"], ["sm"], axis=1)
ident = helper.make_node("Identity", ["sm"], ["out2"])
ident.attribute.extend([helper.make_attribute("floats_attr", [0.5, 1.5]),
                        helper.make_attribute("strings_attr", ["a", "b"])])
inputs = [helper.make_tensor_value_info("x2", TensorProto.FLOAT, [1, 3]),
          helper.make_tensor_value_info("img", TensorProto.FLOAT, [1, 1, 4, 4])]
outputs = [helper.make_tensor_value_info("r", TensorProto.FLOAT, None),
           helper.make_tensor_value_info("out2", TensorProto.FLOAT, None),
           helper.make_tensor_value_info("c", TensorProto.FLOAT, [2])]
g = helper.make_graph([const, attrs, shape, conv, cast, sm, ident], "kinds", inputs, outputs, [f32, i64, i32, f64, u8, h16, k])
model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
with open(f"{root}/attributes.onnx", "wb") as f:
    f.write(model.SerializeToString())

# 3. A subgraph attribute (If), which the reader marks but does not run.
then_g = helper.make_graph([helper.make_node("Identity", ["a"], ["t"])], "then", [], [helper.make_tensor_value_info("t", TensorProto.FLOAT, [1])])
else_g = helper.make_graph([helper.make_node("Neg", ["a"], ["e"])], "else", [], [helper.make_tensor_value_info("e", TensorProto.FLOAT, [1])])
cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [1])
out = helper.make_tensor_value_info("o", TensorProto.FLOAT, [1])
g = helper.make_graph([helper.make_node("If", ["cond"], ["o"], then_branch=then_g, else_branch=else_g)], "branch", [cond, a], [out])
save("subgraph", g)
print(f"wrote {len(os.listdir(root))} seeds to {root}")
