"""The plain explanations in Simplified Chinese, for the page in Chinese.

Keyed by the English text (or its sentences): an explanation made of known sentences is
translated sentence by sentence; one with any sentence not known here has no translation, and
the page shows the English.
"""

from __future__ import annotations

ZH: dict[str, str] = {
    "backward() was called on a tensor with more than one element. Autograd computes a vector-Jacobian product vᵀJ, and for a non-scalar output it cannot guess v: pass it explicitly, y.backward(v) with v shaped like y, or reduce y first (y.sum().backward()).": "backward() 被调用在一个多于一个元素的张量上。Autograd 计算的是向量-雅可比积 vᵀJ，对非标量输出它无法猜出 v：请显式传入，y.backward(v)，v 的形状与 y 相同；或先把 y 归约为标量（y.sum().backward()）。",
    "The first backward() freed the values this graph saved for computing gradients. Call the first backward(retain_graph=True) to keep them, or recompute the forward pass before calling backward() again.": "第一次 backward() 已释放了这张计算图为求梯度而保存的值。第一次调用时写 backward(retain_graph=True) 以保留它们，或在再次调用 backward() 之前重新计算一遍前向传播。",
    "backward() was called on a tensor that is not connected to any tensor that requires grad, so there is nothing to differentiate. Create the inputs with requires_grad=True, and check that nothing on the way detached the graph (detach(), .data, torch.no_grad(), .item(), numpy()).": "backward() 被调用在一个与任何需要梯度的张量都不相连的张量上，所以没有可求导的东西。创建输入时写 requires_grad=True，并检查途中没有什么把计算图断开（detach()、.data、torch.no_grad()、.item()、numpy()）。",
    "A tensor that autograd saved for the backward pass was changed in place afterwards (its version counter moved on), so the saved value is no longer the one the forward pass used. Use an out-of-place op (x = x + 1 instead of x += 1) or clone() before modifying.": "autograd 为反向传播保存的某个张量之后被原地修改了（它的版本计数器增加了），所以保存的值已不是前向传播时用的那个。请改用非原地运算（x = x + 1 而不是 x += 1），或在修改前先 clone()。",
    "A leaf that requires grad cannot be changed in place while autograd is recording, because the change itself would have to be differentiated. Update parameters inside `with torch.no_grad():` or through .data.": "在 autograd 记录时，不能原地修改需要梯度的叶子张量，因为这个修改本身也得被求导。请在 `with torch.no_grad():` 中或通过 .data 更新参数。",
    "torch.autograd.grad was asked for the gradient of an input that the output does not depend on. Pass allow_unused=True to get None for it.": "torch.autograd.grad 被要求对一个输出并不依赖的输入求梯度。传入 allow_unused=True，它的梯度会是 None。",
    "A tensor that is part of the autograd graph cannot be turned into a NumPy array directly. Use t.detach().numpy() to cut it from the graph first.": "属于 autograd 计算图的张量不能直接转成 NumPy 数组。先用 t.detach().numpy() 把它从图中切断。",
    "Anomaly detection found a NaN produced during backward by the named Node.": "异常检测发现，所示节点在反向传播中产生了 NaN。",
    "The shapes of the tensors do not fit this operation. Check each tensor's shape (print(t.shape)) where it is created.": "张量的形状不适合这个运算。在创建每个张量的地方检查它的形状（print(t.shape)）。",
    "An index is outside the table it selects from: this is how nn.Embedding(n, d) (and index_select) report an index of n or more, or a negative one. Make num_embeddings larger than the largest index (the size of the vocabulary), or check the indices.": "有一个下标超出了它所取的表：nn.Embedding(n, d)（以及 index_select）遇到大于等于 n 或为负的下标时就这样报错。让 num_embeddings 大于最大的下标（即词表大小），或检查这些下标。",
    "An index is past the end: a dimension of size n has the indices 0 to n-1 (and -n to -1 from the end).": "下标越过了末尾：大小为 n 的维度，下标是 0 到 n-1（从末尾数是 -n 到 -1）。",
    "A class index among the targets is not one of the model's classes: cross_entropy with C output columns takes targets from 0 to C-1. Check the number of outputs of the last layer against the labels.": "目标里有一个类别下标不是模型的类别之一：输出有 C 列时，cross_entropy 的目标取值为 0 到 C-1。请对照标签检查最后一层的输出个数。",
    "cross_entropy takes the classes as integer indices (dtype torch.long): convert the targets with .long(). For a probability per class, pass a float tensor shaped like the output instead.": "cross_entropy 的目标是整数类别下标（dtype 为 torch.long）：用 .long() 转换目标。若要给每个类别一个概率，请改传与输出形状相同的浮点张量。",
    "The mask must be a boolean tensor: make it with a comparison (x > 0, lengths == 0) or convert it with mask.bool().": "掩码必须是布尔张量：用比较运算得到它（x > 0、lengths == 0），或用 mask.bool() 转换。",
    "The last dimension of the input must be the layer's input_size (features per time step). nn.LSTM, nn.GRU and nn.RNN take (seq_len, batch, features), or (batch, seq_len, features) with batch_first=True.": "输入的最后一维必须等于该层的 input_size（每个时间步的特征数）。nn.LSTM、nn.GRU 和 nn.RNN 接受 (seq_len, batch, features)，或在 batch_first=True 时接受 (batch, seq_len, features)。",
    "pack_padded_sequence expects the sequences sorted longest first. Pass enforce_sorted=False and it sorts them for you (and gives the results back in your order).": "pack_padded_sequence 要求序列按长度从长到短排好。传入 enforce_sorted=False，它会替你排序（并按你原来的顺序给回结果）。",
    "Multi-head attention splits embed_dim evenly among its heads: choose a num_heads that divides embed_dim (for embed_dim=8: 1, 2, 4 or 8 heads).": "多头注意力把 embed_dim 平均分给各个头：请选一个能整除 embed_dim 的 num_heads（embed_dim=8 时可选 1、2、4 或 8 个头）。",
    "The matrix is singular (its determinant is 0): it has no inverse, and the system has no unique solution. Look for rows that repeat or are all zeros; torch.linalg.lstsq or torch.linalg.pinv give a best solution anyway.": "这个矩阵是奇异的（行列式为 0）：它没有逆矩阵，方程组也没有唯一解。找找重复或全为零的行；torch.linalg.lstsq 或 torch.linalg.pinv 仍能给出最优解。",
    "The tensors have different dtypes (for example float32 and float64 or int64). Convert one of them with .float() or .to(other.dtype).": "这些张量的 dtype 不同（例如 float32 与 float64 或 int64）。用 .float() 或 .to(other.dtype) 转换其中一个。",
    "item() (and float() or int()) turns a tensor of exactly one element into a Python number; this one has several. Reduce it first (t.sum().item(), t.mean().item()) or take all of them with t.tolist().": "item()（以及 float()、int()）只能把恰好一个元素的张量变成 Python 数；这个张量有多个元素。先归约（t.sum().item()、t.mean().item()），或用 t.tolist() 取出全部。",
    "There is no GPU here: programs run on the CPU. Leave out .cuda() and device='cuda', or write device = 'cuda' if torch.cuda.is_available() else 'cpu'.": "这里没有 GPU：程序在 CPU 上运行。去掉 .cuda() 和 device='cuda'，或写成 device = 'cuda' if torch.cuda.is_available() else 'cpu'。",
    "A value is None where a tensor was expected. Most often it is a .grad: it stays None until a backward() reaches its tensor, and zero_grad() sets it back to None. Check `if w.grad is not None:` first, or call optimizer.zero_grad().": "这里期望一个张量，得到的却是 None。最常见的是 .grad：在 backward() 到达它的张量之前它一直是 None，zero_grad() 也会把它重新设为 None。先检查 `if w.grad is not None:`，或调用 optimizer.zero_grad()。",
    "Only floating-point tensors can require grad: create it with a float dtype (torch.tensor([1.0, 2.0]) rather than torch.tensor([1, 2])).": "只有浮点张量才能需要梯度：用浮点 dtype 创建它（torch.tensor([1.0, 2.0]) 而不是 torch.tensor([1, 2])）。",
    "This tensor is not part of an autograd graph, so it has no gradient to compute.": "这个张量不属于任何 autograd 计算图，所以没有梯度可算。",
    "Python could not read the program: the line shown has a syntax mistake (a missing bracket, colon or quote is the usual cause).": "Python 无法读懂这段程序：所示的行有语法错误（常见原因是缺了括号、冒号或引号）。",
    "The indentation of this line does not match the lines around it.": "这一行的缩进与周围的行不一致。",
    "This line indents with tabs where the lines around it use spaces (or the other way round). Indent with spaces only.": "这一行用制表符缩进，而周围的行用空格（或者相反）。请只用空格缩进。",
    "The program asked for keyboard input (input()), but programs here run without a keyboard. Write the value into the program instead.": "程序请求键盘输入（input()），但这里的程序没有键盘。请把这个值直接写进程序里。",
    "There are no files here: a program runs on its own, with no folder to read from or write to. Make the data in the program (torch.randn, torch.linspace, or a small tensor written out), and print results instead of saving them.": "这里没有文件：程序独立运行，没有可读写的文件夹。请在程序里生成数据（torch.randn、torch.linspace，或直接写出一个小张量），并把结果打印出来而不是保存。",
    "This name is used before it was given a value (or it is misspelt).": "这个名字在被赋值之前就被使用了（或者拼写有误）。",
    "A plain Python number was divided by zero.": "一个普通的 Python 数被零除了。",
    "This module is not available here.": "这里没有这个模块。",
    "This module is not available here; gradstage programs can use torch, math, random and a stand-in for matplotlib.pyplot.": "这里没有这个模块；gradstage 的程序可以使用 torch、math、random，以及 matplotlib.pyplot 的替身。",
    "The program asked for more memory than it is allowed.": "程序申请的内存超过了允许的上限。",
    "A function called itself too many times.": "一个函数调用自身的次数太多了。",
    "The program stopped itself by raising KeyboardInterrupt (what pressing Ctrl-C raises).": "程序自己抛出了 KeyboardInterrupt（按下 Ctrl-C 时抛出的异常）而停止。",
    "Only leaf tensors that require grad keep their gradient in .grad after backward(). This tensor was computed from others (it has a grad_fn), so its .grad is None. Call t.retain_grad() before backward() to keep it, or read the gradients of the leaves.": "只有需要梯度的叶子张量会在 backward() 之后把梯度保存在 .grad 中。这个张量是由其他张量计算得到的（它有 grad_fn），所以它的 .grad 是 None。在 backward() 之前调用 t.retain_grad() 来保留它，或去读叶子张量的梯度。",
    "This operation produced NaN or inf from finite inputs. Values computed from it are NaN or inf too, unless something drops those elements (torch.where, a mask): even then, the backward pass goes through this operation and its gradient there can be NaN.": "这个运算从有限的输入产生了 NaN 或 inf。由它算出的值也会是 NaN 或 inf，除非有什么丢掉了这些元素（torch.where、掩码）：即便如此，反向传播仍会经过这个运算，那里的梯度可能是 NaN。",
    "This Node turned finite incoming gradients into NaN or inf: its local derivative is infinite or undefined here (for example sqrt'(0) = 1/(2√0)).": "这个节点把有限的传入梯度变成了 NaN 或 inf：它在这里的局部导数为无穷大或没有定义（例如 sqrt'(0) = 1/(2√0)）。",
    "The gradient arriving at this Node was already huge, and multiplying it by this Node's local derivative went past the largest number the dtype can hold: it overflowed to inf. The gradients are exploding (growing layer by layer or step by step): lower the learning rate, scale the inputs down, or clip the gradients (torch.nn.utils.clip_grad_norm_).": "到达这个节点的梯度已经非常大，再乘以这个节点的局部导数，就超过了该 dtype 能表示的最大数：溢出为 inf。梯度正在爆炸（逐层或逐步变大）：降低学习率、缩小输入，或裁剪梯度（torch.nn.utils.clip_grad_norm_）。",
    "gradstage runs the program operation by operation, as PyTorch does without torch.compile, so that it can show each one: the compiled version is skipped. The values and gradients are the same as compiled ones (up to rounding in the last digits).": "gradstage 像不用 torch.compile 时的 PyTorch 一样逐个运算地运行程序，以便展示每一步：编译版本被跳过。数值和梯度与编译后的相同（最后几位可能有舍入差异）。",
    "A backward() already ran through this graph and freed the values it saved for computing gradients, so its backward pass cannot be replayed. Show the tensor before calling backward(), or call that backward(retain_graph=True).": "已有一次 backward() 经过这张图并释放了它为求梯度保存的值，所以无法重放它的反向传播。请在调用 backward() 之前 show 这个张量，或让那次调用写成 backward(retain_graph=True)。",
    "The program ran longer than it is allowed and was stopped at this line. Look for a loop that never ends, or use fewer iterations.": "程序运行时间超过了允许的上限，在这一行被停止。找找永不结束的循环，或减少迭代次数。",
    "The program ran longer than it is allowed and was stopped at this line, in the middle of one operation that took too long to wait for (an operation on very large tensors, for example). Use smaller tensors.": "程序运行时间超过了允许的上限，在这一行被停止：它正在执行的一个运算耗时太长，等不到它结束（例如对非常大的张量的运算）。请使用更小的张量。",
    "It caught the exception that stopped it (a bare except: or except BaseException catches it) and went on, so it was stopped for good here.": "它捕获了让它停止的异常（裸 except: 或 except BaseException 都会捕获它）并继续运行，因此在这里被彻底停止。",
    "Printed output is limited; the program was stopped there. Print less (for example only every 100th iteration).": "打印输出有上限；程序在那里被停止。少打印一些（例如每 100 次迭代才打印一次）。",
    "The program called exit() with a status.": "程序以一个状态码调用了 exit()。",
}


# Longest first: a sentence is matched before a shorter one it starts with.
_KNOWN = sorted(ZH.items(), key=lambda item: -len(item[0]))


def in_chinese(text: str | None) -> str | None:
    """The Chinese of an English explanation, or None when some of it is not known here."""
    if not text:
        return None
    parts: list[str] = []
    rest = text.strip()
    while rest:
        for english, chinese in _KNOWN:
            if rest.startswith(english):
                parts.append(chinese)
                rest = rest[len(english) :].lstrip()
                break
        else:
            return None
    return "".join(parts)
